// Asio's SSL part, compiled once; the core is in control/asio_impl.cpp.
#include <boost/asio/ssl/impl/src.hpp>
