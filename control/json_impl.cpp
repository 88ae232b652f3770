// Boost.JSON's compiled part, built once for the whole program (Boost 1.81 ships it as a
// library or as this one-TU source include; we use the latter so nothing extra is linked).
// If a library below control/ ever needs Boost.JSON too, this file has to move down to it.
#include <boost/json/src.hpp>
