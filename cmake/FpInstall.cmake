# Generated headers and the installed package: libraries, CMake and pkg-config files, program,
# headers, docs, cases and tools (included from the top-level CMakeLists.txt).
# SPDX-License-Identifier: GPL-3.0-or-later
include(CMakePackageConfigHelpers)

set(FP_INSTALL_CASESDIR ${CMAKE_INSTALL_DATADIR}/fpentropy/cases)
set(FP_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/fpentropy)

# <fpentropy/version.h> (FP_VERSION_MAJOR ...) and <fpentropy/export.h> (FP_API),
# generated into the build tree's include/ (on every target's include path).
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in
               ${PROJECT_BINARY_DIR}/include/fpentropy/version.h @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/export.h.in
               ${PROJECT_BINARY_DIR}/include/fpentropy/export.h @ONLY)

install(TARGETS fpentropy fpentropy_static fpentropy_cli EXPORT fpentropyTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT devel
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/fpentropy ${PROJECT_BINARY_DIR}/include/fpentropy
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT devel)

# CMake package (relocatable: paths relative to the config file).
install(EXPORT fpentropyTargets NAMESPACE fpentropy:: DESTINATION ${FP_INSTALL_CMAKEDIR}
  COMPONENT devel)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/fpentropyConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fpentropyConfig.cmake INSTALL_DESTINATION ${FP_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR FP_INSTALL_CASESDIR)
# 0.x: a different minor version is a different API.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(fp_compat SameMinorVersion)
else()
  set(fp_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fpentropyConfigVersion.cmake
  COMPATIBILITY ${fp_compat})
install(FILES ${PROJECT_BINARY_DIR}/fpentropyConfig.cmake
              ${PROJECT_BINARY_DIR}/fpentropyConfigVersion.cmake
  DESTINATION ${FP_INSTALL_CMAKEDIR} COMPONENT devel)

# pkg-config (relocatable through ${pcfiledir}).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  message(FATAL_ERROR "fpentropy.pc needs a relative CMAKE_INSTALL_LIBDIR")
endif()
file(RELATIVE_PATH FP_PC_LIBDIR_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
# What a static link needs beyond the Requires.private modules (SUNDIALS has no .pc file).
set(FP_PC_LIBS_PRIVATE "-lsundials_cvode -lsundials_sunlinsolklu -lsundials_sunmatrixsparse -lsundials_nvecserial -lklu -lm -pthread")
set(FP_PC_REQUIRES_PRIVATE "fftw3 inih libmatheval")
if(ZLIB_FOUND)
  string(APPEND FP_PC_REQUIRES_PRIVATE " zlib")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/fpentropy.pc.in ${PROJECT_BINARY_DIR}/fpentropy.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/fpentropy.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT devel)

# Data and documentation.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/cases/ DESTINATION ${FP_INSTALL_CASESDIR}
  COMPONENT runtime FILES_MATCHING PATTERN "*.ini")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT doc)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)
install(FILES ${PROJECT_SOURCE_DIR}/examples/rotating_ou.c
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT doc)

# The Python package (also `pip install ./python`) and the plot tool that wraps it: the
# wrapper finds the package in share/fpentropy/python.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/fpentropy DESTINATION ${CMAKE_INSTALL_DATADIR}/fpentropy/python
  COMPONENT python PATTERN "__pycache__" EXCLUDE)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/tools/fpentropy-plot DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT python)
install(FILES ${PROJECT_SOURCE_DIR}/tools/README-plot.md ${PROJECT_SOURCE_DIR}/python/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/python COMPONENT doc)
