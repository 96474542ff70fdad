# Runs the manifest fuzzer for SECONDS on a fresh corpus seeded with the project's manifests.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/corpus)
file(GLOB_RECURSE seeds ${SOURCE_DIR}/tests/manifests/*.yaml ${SOURCE_DIR}/examples/*.yaml
     ${SOURCE_DIR}/fuzz/seeds/*)
file(COPY ${seeds} DESTINATION ${WORK_DIR}/corpus)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -max_len=8192
          -dict=${SOURCE_DIR}/fuzz/manifest.dict -artifact_prefix=${WORK_DIR}/
          -print_final_stats=1 ${WORK_DIR}/corpus
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the fuzzer found a problem (exit ${result}); see ${WORK_DIR}")
endif()
