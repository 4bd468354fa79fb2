/* wt_web_assets.h: the demo page files embedded into wtcast at build time
 * (web/embed.cmake generates the table from web/). */
#ifndef WT_WEB_ASSETS_H
#define WT_WEB_ASSETS_H

#include <stddef.h>

typedef struct wt_web_asset {
  const char *path;         /* "/", "/index.html", "/demo.js", ... */
  const char *content_type; /* "text/html; charset=utf-8", ... */
  const unsigned char *data;
  size_t len;
} wt_web_asset;

extern const wt_web_asset wt_web_assets[];
extern const size_t wt_web_assets_n;

#endif
