# Install and export rules: `cmake --install` puts the libraries, the headers
# (under include/qmir/{mir,passes,lowering,frontend}, so consumers write `#include "mir/IR.h"`) and
# a CMake package (qmirConfig.cmake) that gives out-of-tree projects the targets
# qmir::mir, qmir::passes, qmir::lowering and qmir::frontend via find_package(qmir CONFIG).
include(CMakePackageConfigHelpers)

set(QMIR_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/qmir)

# qmir_mir links the two helper interface targets (LLVM usage requirements and
# qmir's warning flags; the latter only as $<LINK_ONLY:>, so consumers never
# see the flags). CMake requires every target named in an exported link
# interface to be exported too, so they go into the same export set under
# names that say what they are.
set_target_properties(qmir_mir PROPERTIES EXPORT_NAME mir)
set_target_properties(qmir_passes PROPERTIES EXPORT_NAME passes)
set_target_properties(qmir_lowering PROPERTIES EXPORT_NAME lowering)
set_target_properties(qmir_frontend PROPERTIES EXPORT_NAME frontend)
set_target_properties(qmir_backend PROPERTIES EXPORT_NAME backend)
set_target_properties(qmir_backend_llvm PROPERTIES EXPORT_NAME backend_llvm)
set_target_properties(qmir_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(qmir_llvm PROPERTIES EXPORT_NAME llvm)
set_target_properties(qmir_warnings PROPERTIES EXPORT_NAME warnings)

install(TARGETS qmir_mir qmir_passes qmir_lowering qmir_frontend qmir_backend
  qmir_backend_llvm qmir_runtime qmir_llvm qmir_warnings
  EXPORT qmirTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qmir)

# Headers keep their directory, matching the in-tree include paths.
foreach(dir mir passes lowering frontend backend)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qmir/${dir}
    FILES_MATCHING PATTERN "*.h")
endforeach()

# The runtime's C ABI, for code that calls it or embeds it.
install(FILES ${PROJECT_SOURCE_DIR}/runtime/qz_runtime.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qmir/runtime)

if(TARGET mir-opt)
  install(TARGETS mir-opt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT qmirTargets
  NAMESPACE qmir::
  FILE qmirTargets.cmake
  DESTINATION ${QMIR_INSTALL_CMAKEDIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/qmirConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/qmirConfig.cmake
  INSTALL_DESTINATION ${QMIR_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/qmirConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/qmirConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/qmirConfigVersion.cmake
  DESTINATION ${QMIR_INSTALL_CMAKEDIR})
