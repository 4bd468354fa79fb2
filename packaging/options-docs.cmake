# Regenerates the files made from wtcast's option table (ops/wt_options.c):
# packaging/wtcast.conf.example and the OPTIONS list of packaging/wtcast.1
# (between its BEGIN/END OPTIONS lines). Run as
#   cmake --build build --target options-docs
# (cmake -DWTCAST=<built wtcast> -DSRC=<source dir> -P packaging/options-docs.cmake).
# unit.config and integration.ops_config fail until this is done.
if(NOT WTCAST OR NOT SRC)
  message(FATAL_ERROR "usage: cmake -DWTCAST=path/to/wtcast -DSRC=source/dir -P options-docs.cmake")
endif()
execute_process(COMMAND ${WTCAST} --print-config-example
                OUTPUT_FILE ${SRC}/packaging/wtcast.conf.example RESULT_VARIABLE rv)
if(rv)
  message(FATAL_ERROR "wtcast --print-config-example failed: ${rv}")
endif()
execute_process(COMMAND ${WTCAST} --print-man-options OUTPUT_VARIABLE opts RESULT_VARIABLE rv)
if(rv)
  message(FATAL_ERROR "wtcast --print-man-options failed: ${rv}")
endif()
file(READ ${SRC}/packaging/wtcast.1 man)
set(begin_mark ".\\\" BEGIN OPTIONS\n")
set(end_mark ".\\\" END OPTIONS\n")
string(FIND "${man}" "${begin_mark}" b)
string(FIND "${man}" "${end_mark}" e)
if(b LESS 0 OR e LESS b)
  message(FATAL_ERROR "packaging/wtcast.1 lacks the BEGIN/END OPTIONS lines")
endif()
string(LENGTH "${begin_mark}" blen)
math(EXPR b "${b} + ${blen}")
string(SUBSTRING "${man}" 0 ${b} head)
string(SUBSTRING "${man}" ${e} -1 tail)
file(WRITE ${SRC}/packaging/wtcast.1 "${head}${opts}${tail}")
message(STATUS "regenerated packaging/wtcast.conf.example and the OPTIONS of packaging/wtcast.1")
