/* test_modules.c: the runtime side of the application modules
 * (shards/wt_modules.h): init/fini per router, counters one module after
 * the other, the limits. */
#include "check.h"

#include "wt_app.h"
#include "wt_error.h"
#include "wt_modules.h"

typedef struct fake {
  const char *path;
  int fail;         /* init returns this */
  int inits, finis; /* calls seen */
  int last_on_worker;
  uint32_t last_index;
  uint64_t base; /* counters: base + i */
  char order[16];
} fake;

static char g_order[32]; /* fini order over every fake */

static const wt_app_ops fake_ops = {.name = "fake"};

static int fake_init(void *arg, wt_app_router *r, int on_worker, uint32_t index, void **state) {
  fake *f = arg;
  f->inits++;
  f->last_on_worker = on_worker;
  f->last_index = index;
  if (f->fail) {
    return f->fail;
  }
  *state = f;
  return wt_app_router_add(r, f->path, &fake_ops, on_worker ? f : NULL);
}

static void fake_fini(void *arg, void *state) {
  fake *f = arg;
  CHECK(state == f);
  f->finis++;
  strncat(g_order, f->path + 1, 1);
}

static void fake_counters(void *arg, void *state, uint64_t *out) {
  fake *f = state;
  for (int i = 0; i < 3; i++) {
    out[i] = f->base + (uint64_t)i;
  }
}

static const char *const three[] = {"a", "b", "c"};

#define FAKE_MODULE(f)                                                                             \
  {                                                                                                \
    .name = "fake", .arg = (f), .init = fake_init, .fini = fake_fini, .counter_names = three,      \
    .n_counters = 3, .counters = fake_counters                                                     \
  }

static void test_init_counters_fini(void) {
  fake x = {.path = "/x", .base = 100}, y = {.path = "/y", .base = 200};
  const wt_app_module mx = FAKE_MODULE(&x), my = FAKE_MODULE(&y);
  const wt_app_module *mods[] = {&mx, &my};
  CHECK_EQ(wt_modules_check(mods, 2), 6);
  wt_app_router *r;
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  wt_modules m;
  CHECK_FATAL(wt_modules_init(&m, mods, 2, r, 1, 5) == 0);
  CHECK(x.inits == 1 && y.inits == 1 && x.last_on_worker == 1 && y.last_index == 5);
  void *arg = NULL;
  CHECK(wt_app_router_find(r, "/y?q=1", &arg) == &fake_ops && arg == &y);
  uint64_t c[WT_APP_MAX_COUNTERS];
  wt_modules_counters(&m, c);
  CHECK(c[0] == 100 && c[2] == 102 && c[3] == 200 && c[5] == 202 && c[6] == 0);
  g_order[0] = '\0';
  wt_modules_free(&m);
  wt_modules_free(&m); /* idempotent */
  CHECK(x.finis == 1 && y.finis == 1);
  CHECK(strcmp(g_order, "yx") == 0); /* reverse order */
  wt_app_router_del(r);
}

static void test_init_failure_unwinds(void) {
  fake x = {.path = "/x"}, y = {.path = "/y", .fail = WT_ERR_NOMEM};
  const wt_app_module mx = FAKE_MODULE(&x), my = FAKE_MODULE(&y);
  const wt_app_module *mods[] = {&mx, &my};
  wt_app_router *r;
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  wt_modules m;
  CHECK_EQ(wt_modules_init(&m, mods, 2, r, 0, 0), WT_ERR_NOMEM);
  CHECK(x.inits == 1 && x.finis == 1 && y.finis == 0); /* x freed again, y never made */
  wt_modules_free(&m);
  CHECK(x.finis == 1);
  wt_app_router_del(r);
}

static void test_limits(void) {
  CHECK_EQ(wt_modules_check(NULL, 0), 0);
  CHECK_EQ(wt_modules_check(NULL, 1), WT_ERR_INVAL);
  const wt_app_module *one_null[] = {NULL};
  CHECK_EQ(wt_modules_check(one_null, 1), WT_ERR_INVAL);
  const char *names[WT_APP_MAX_COUNTERS + 1];
  for (size_t i = 0; i <= WT_APP_MAX_COUNTERS; i++) {
    names[i] = "n";
  }
  wt_app_module big = {.name = "big", .counter_names = names, .n_counters = WT_APP_MAX_COUNTERS};
  const wt_app_module *bigs[] = {&big};
  CHECK_EQ(wt_modules_check(bigs, 1), WT_APP_MAX_COUNTERS);
  big.n_counters = WT_APP_MAX_COUNTERS + 1; /* more counters than a snapshot holds */
  CHECK_EQ(wt_modules_check(bigs, 1), WT_ERR_INVAL);
  big.n_counters = 2;
  names[1] = NULL;
  CHECK_EQ(wt_modules_check(bigs, 1), WT_ERR_INVAL); /* a counter without a name */
  const char *const *full = three;
  const wt_app_module half = {.name = "h", .counter_names = full, .n_counters = 3};
  const wt_app_module *many[WT_APP_MAX_MODULES + 1];
  for (size_t i = 0; i <= WT_APP_MAX_MODULES; i++) {
    many[i] = &half;
  }
  CHECK_EQ(wt_modules_check(many, WT_APP_MAX_MODULES), WT_APP_MAX_MODULES * 3);
  CHECK_EQ(wt_modules_check(many, WT_APP_MAX_MODULES + 1), WT_ERR_INVAL);
  /* no hooks at all: nothing to do, counters zero */
  const wt_app_module bare = {.name = "bare"};
  const wt_app_module *b[] = {&bare};
  wt_modules m;
  CHECK_EQ(wt_modules_init(&m, b, 1, NULL, 1, 0), 0);
  uint64_t c[WT_APP_MAX_COUNTERS];
  c[0] = 7;
  wt_modules_counters(&m, c);
  CHECK_EQ(c[0], 0);
  wt_modules_free(&m);
}

int main(void) {
  WT_RUN(test_init_counters_fini);
  WT_RUN(test_init_failure_unwinds);
  WT_RUN(test_limits);
  WT_DONE();
}
