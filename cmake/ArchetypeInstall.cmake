# install() of the headers and an exported archetypeConfig.cmake for find_package(archetype CONFIG).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/archetype DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS archetype EXPORT archetypeTargets)
install(EXPORT archetypeTargets NAMESPACE archetype::
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/archetype)
configure_package_config_file(cmake/archetypeConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/archetypeConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/archetype)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/archetypeConfigVersion.cmake
    COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/archetypeConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/archetypeConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/archetype)
