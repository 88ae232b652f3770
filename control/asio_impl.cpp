// Asio compiled once for the program (BOOST_ASIO_SEPARATE_COMPILATION, set on dw_control).
#include <boost/asio/impl/src.hpp>
