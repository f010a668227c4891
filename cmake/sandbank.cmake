# The three helpers every component uses, so each one is a single CMake target with the
# same conventions: only include/ is PUBLIC, and everything gets -Wall -Wextra.
#
#   sandbank_library(NAME store SRCS a.cc b.cc DEPS sandbank::core [PRIVATE_DEPS ...])
#     -> target sandbank_store, alias sandbank::store
#   sandbank_executable(NAME sandbank SRCS main.cc DEPS sandbank::cli)
#     -> build/bin/<NAME>
#   sandbank_test(NAME store_test SRCS ... DEPS ... [LABELS engine])
#     -> a GoogleTest binary whose tests ctest lists one by one

# `ninja engine_tests` builds every test labelled "engine" (what build-asan/ runs).
if(NOT TARGET engine_tests)
  add_custom_target(engine_tests)
endif()

function(sandbank_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target sandbank_${A_NAME})
  add_library(${target} STATIC ${A_SRCS})
  add_library(sandbank::${A_NAME} ALIAS ${target})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
endfunction()

function(sandbank_executable)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
endfunction()

# Tests labelled "engine" are also built and run under ASan/UBSan (build-asan/).
function(sandbank_test)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${A_NAME} PRIVATE
    SANDBANK_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
    SANDBANK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # One label per binary: gtest_discover_tests flattens a list of labels into extra
  # property names.
  list(LENGTH A_LABELS n_labels)
  if(n_labels GREATER 1)
    message(FATAL_ERROR "sandbank_test(${A_NAME}): give one label, not ${A_LABELS}")
  endif()
  set(props TIMEOUT 120)
  if(A_LABELS)
    list(APPEND props LABELS ${A_LABELS})
  endif()
  gtest_discover_tests(${A_NAME} DISCOVERY_MODE PRE_TEST PROPERTIES ${props})
  if("engine" IN_LIST A_LABELS)
    add_dependencies(engine_tests ${A_NAME})
  endif()
endfunction()
