# Fails the build when the stripped kernel exceeds the hard size ceiling.
file(SIZE "${FILE}" size)
if(size GREATER LIMIT)
    message(FATAL_ERROR "exo-kernel is ${size} bytes, over the ${LIMIT}-byte ceiling")
endif()
message(STATUS "exo-kernel: ${size} bytes (ceiling ${LIMIT})")
