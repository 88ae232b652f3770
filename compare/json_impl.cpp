// Boost.JSON's compiled part for dw_compare, which loads libpg_query's JSON parse trees
// (sql_parser.cpp). control/json_impl.cpp holds the same include for dw_control: as its own
// comment says, the one copy belongs in the lowest library that needs it, which is now this one.
// Until control/ drops its copy, a program linking both static libraries takes whichever
// archive member the linker reaches first; both are the same code.
#include <boost/json/src.hpp>
