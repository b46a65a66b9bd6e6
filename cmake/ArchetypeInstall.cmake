# install() of the headers and an exported archetypeConfig.cmake for find_package(archetype CONFIG).
# Header-only and architecture-independent: everything goes under share/cmake/archetype and include/.
include(CMakePackageConfigHelpers)

set(ARCHETYPE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/cmake/archetype
    CACHE STRING "Where archetypeConfig.cmake is installed, relative to the prefix")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/archetype DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS archetype EXPORT archetypeTargets)
install(EXPORT archetypeTargets NAMESPACE archetype:: DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/archetypeConfig.cmake.in
    ${PROJECT_BINARY_DIR}/archetypeConfig.cmake
    INSTALL_DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/archetypeConfigVersion.cmake
    COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/archetypeConfig.cmake ${PROJECT_BINARY_DIR}/archetypeConfigVersion.cmake
        DESTINATION ${ARCHETYPE_INSTALL_CMAKEDIR})
