/* SPDX-License-Identifier: ISC */
/*
 * limits_script: the shared-limits script (daemon/limits.lua) as compiled
 * in.  The definition is generated at build time from the Lua file
 * (limits_script.c, in the build directory), so the script is kept and
 * read as Lua; only shared.c uses it.
 */
#ifndef LIMITS_SCRIPT_H
#define LIMITS_SCRIPT_H

/* The script's text, NUL-terminated. */
extern const char	limits_script_text[];

#endif /* LIMITS_SCRIPT_H */
