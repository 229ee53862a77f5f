#include "mir/Builder.h"
#include <gtest/gtest.h>
using namespace qmir;
TEST(IR, Placeholder) { Module m; EXPECT_EQ(m.numBindings(), 0u); }
