# Run by `cmake --install` (and by cpack, which installs into its staging tree): renders the
# systemd units and installs them with the options file and the sysusers entry, naming the
# paths of the prefix actually installed to -- `--prefix` may differ from the configured
# one, and the .deb installs to /usr.  PROVOST_PACKAGING_DIR, PROVOST_RENDER_DIR and
# PROVOST_BINDIR, PROVOST_DOCDIR (relative to the prefix) are set by the caller.
set(prefix "${CMAKE_INSTALL_PREFIX}")
# GNUInstallDirs' rule: /usr keeps its configuration in /etc, any other prefix in PREFIX/etc
if(prefix STREQUAL "/usr" OR prefix STREQUAL "/usr/")
  set(prefix "/usr")
  set(etc "/etc")
else()
  set(etc "${prefix}/etc")
endif()
set(PROVOST_BIN "${prefix}/${PROVOST_BINDIR}/provost")
set(PROVOST_DOC_DIR "${prefix}/${PROVOST_DOCDIR}")
set(PROVOST_ENV_FILE "${etc}/default/provost")

foreach(unit provost-serve.service provost-worker.service)
  configure_file("${PROVOST_PACKAGING_DIR}/systemd/${unit}.in" "${PROVOST_RENDER_DIR}/${unit}" @ONLY)
  file(INSTALL "${PROVOST_RENDER_DIR}/${unit}" DESTINATION "${prefix}/lib/systemd/system"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
configure_file("${PROVOST_PACKAGING_DIR}/provost.sysusers" "${PROVOST_RENDER_DIR}/provost.conf" COPYONLY)
file(INSTALL "${PROVOST_RENDER_DIR}/provost.conf" DESTINATION "${prefix}/lib/sysusers.d"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The options file is the operator's: an install over one leaves it as it is (the .deb
# marks it a conffile, so dpkg asks instead).
if(EXISTS "$ENV{DESTDIR}${PROVOST_ENV_FILE}")
  message(STATUS "Kept: $ENV{DESTDIR}${PROVOST_ENV_FILE}")
else()
  configure_file("${PROVOST_PACKAGING_DIR}/provost.default" "${PROVOST_RENDER_DIR}/default/provost" COPYONLY)
  file(INSTALL "${PROVOST_RENDER_DIR}/default/provost" DESTINATION "${etc}/default"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
