/* cmd_version.c - `evmon version`: the build's version and library versions. */
#include <curl/curl.h>
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/version.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include <zlib.h>

#include "agent/cmd.h"

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: evmon version\n\nPrint evmon's version and the versions of the libraries it uses.\n");
        return 0;
    }
    printf("evmon %s\n", EVMON_VERSION);
    printf("  net-snmp %s, libcurl %s, libyaml %s, zlib %s\n", netsnmp_get_version(),
           curl_version_info(CURLVERSION_NOW)->version, yaml_get_version_string(), zlibVersion());
    return 0;
}
