/* wt_msg.c: what an undelivered message holds (wt_msg.h). */

#include "wt_msg.h"

#include "wt_app.h"

void wt_msg_drop(wt_msg *m) {
  if (m->buf) {
    wt_buf_unref(m->buf);
    m->buf = NULL;
  }
  if (m->kind == WT_CMD_GROUP_NEW) {
    wt_app_group_counters_unref(m->cmd_group_new.counters);
    m->cmd_group_new.counters = NULL;
  }
}
