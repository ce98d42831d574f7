# Writes ${OUT}: #define ATALLA_CODEGEN_HASH "<sha256 of the code generator's
# sources>", the part of the kernel cache key that changes whenever the code
# that decides a kernel's bytes does. Rewritten only when the hash changes.
# Usage: cmake -DOUT=file -DSOURCES="a;b;..." -P CodegenHash.cmake
set(Digests "")
foreach(F IN LISTS SOURCES)
  file(SHA256 "${F}" D)
  string(APPEND Digests "${D}\n")
endforeach()
string(SHA256 Hash "${Digests}")
set(Text "#define ATALLA_CODEGEN_HASH \"${Hash}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" Old)
  if(Old STREQUAL Text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${Text}")
