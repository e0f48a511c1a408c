/*
 * store_internal.h: what store_sqlite.c lends the store room's other files (store_security.c):
 * the connection, a block of statement slots it finalises at close, and its error helpers.
 * Nobody outside simhub/store includes this; it never exposes SQLite to the hub.
 */
#ifndef SH_STORE_INTERNAL_H
#define SH_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Statement slots for store_security.c (prepared on first use, finalised by store_close). */
#define STORE_SEC_STMTS 16

/* The store's connection (borrowed). */
sqlite3 *store_internal_db(struct sh_store *st);
/* The STORE_SEC_STMTS slots (borrowed; NULL until prepared). */
sqlite3_stmt **store_internal_sec_stmts(struct sh_store *st);
/* The last SQLite failure as an sh_rc (as store_sqlite.c maps it), reason "what: ..." kept. */
sh_rc store_internal_fail(struct sh_store *st, const char *what);
/* Set the reason store_errmsg returns. */
void store_internal_set_err(struct sh_store *st, const char *what);
/* SH_E_IO when the batch transaction was lost (see store_sqlite.c write_guard). */
sh_rc store_internal_write_guard(struct sh_store *st);

#endif
