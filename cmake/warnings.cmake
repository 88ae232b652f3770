# Our warnings, linked PRIVATE to our own targets only; -Werror comes from the ci preset.
add_library(dw_warnings INTERFACE)
target_compile_options(dw_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough)
# GCC 12 false positive: Asio's awaitable frames are allocated by its recycling allocator
# (aligned_alloc) and released through a matching class operator delete; after inlining,
# GCC pairs the wrong functions at -O2. Our own code has no manual new/delete.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(dw_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
