# `cmake --install build [--prefix P]`: the tools, the runtime libraries a
# program needs to run blobs (abi, sim, runtime; the LibTorch fallback as the
# optional component "fallback"), their public headers under
# include/atalla-gen/, and a CMake package, so another project can
#   find_package(AtallaGen CONFIG REQUIRED)   # or COMPONENTS fallback
#   target_link_libraries(app PRIVATE AtallaGen::runtime)
# tests/install/ builds such a consumer against an installed tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ATALLA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/AtallaGen)
# Installed tools find Debian's LLVM and LibTorch where the build found them.
set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)

set_target_properties(atalla_abi PROPERTIES EXPORT_NAME abi)
set_target_properties(atalla_sim PROPERTIES EXPORT_NAME sim)
set_target_properties(atalla_target PROPERTIES EXPORT_NAME target)
set_target_properties(atalla_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(atalla_llvm PROPERTIES EXPORT_NAME llvm)
set_target_properties(atalla_fallback PROPERTIES EXPORT_NAME fallback)
set_target_properties(atalla_torch_blas PROPERTIES EXPORT_NAME torch_blas)

install(TARGETS atalla-gen atalla-run atalla-inspect atalla-fuzz atalla-make-example
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS atalla_abi atalla_target atalla_sim atalla_runtime atalla_llvm EXPORT AtallaGenTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/atalla-gen)
install(TARGETS atalla_fallback atalla_torch_blas EXPORT AtallaGenFallbackTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# Public headers keep the layout the sources include them by ("runtime/Blob.h").
set(ATALLA_HEADER_ROOT ${CMAKE_INSTALL_INCLUDEDIR}/atalla-gen)
install(FILES src/runtime/abi/Bf16.h src/runtime/abi/BlobBuilder.h src/runtime/abi/BlobFormat.h src/runtime/abi/KernelAbi.h
              src/runtime/abi/KernelSpec.h src/runtime/abi/Kernels.h src/runtime/abi/Kernels.def
              src/runtime/abi/SchemaEnums.h src/runtime/abi/DTypes.def
        DESTINATION ${ATALLA_HEADER_ROOT}/runtime/abi)
install(FILES src/runtime/Blob.h src/runtime/Executor.h src/runtime/Profile.h
        DESTINATION ${ATALLA_HEADER_ROOT}/runtime)
install(FILES src/runtime/fallback/AtenFallback.h src/runtime/fallback/TorchBlas.h DESTINATION ${ATALLA_HEADER_ROOT}/runtime/fallback)
install(FILES src/sim/CodeLoader.h src/sim/Device.h src/sim/Machine.h DESTINATION ${ATALLA_HEADER_ROOT}/sim)
install(FILES src/target/Machine.h DESTINATION ${ATALLA_HEADER_ROOT}/target)

install(EXPORT AtallaGenTargets NAMESPACE AtallaGen:: DESTINATION ${ATALLA_CMAKE_DIR})
install(EXPORT AtallaGenFallbackTargets NAMESPACE AtallaGen:: DESTINATION ${ATALLA_CMAKE_DIR})
configure_package_config_file(cmake/AtallaGenConfig.cmake.in ${CMAKE_BINARY_DIR}/AtallaGenConfig.cmake
                              INSTALL_DESTINATION ${ATALLA_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/AtallaGenConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/AtallaGenConfig.cmake ${CMAKE_BINARY_DIR}/AtallaGenConfigVersion.cmake
        DESTINATION ${ATALLA_CMAKE_DIR})
