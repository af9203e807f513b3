dnl Site macros shared by several hosts, included by site-include.mc.
define(`confLOG_LEVEL', `12')dnl
define(`confMAX_MESSAGE_SIZE', `52428800')dnl
FEATURE(`nocanonify')dnl
