#include "kernel/lib/names.h"

#include <gtest/gtest.h>

#include "kernel/boot/boot_task.h"
#include "kernel/lib/result.h"

using namespace exo;

TEST(Names, IndexPicksThePackedName)
{
    EXPECT_STREQ(name_at("zero\0one\0two\0", 0), "zero");
    EXPECT_STREQ(name_at("zero\0one\0two\0", 2), "two");
}

TEST(Names, PastTheEndOrEmptyIsAQuestionMark)
{
    EXPECT_STREQ(name_at("zero\0one\0", 2), "?");
    EXPECT_STREQ(name_at("zero\0one\0", 1000), "?");
    EXPECT_STREQ(name_at("", 0), "?");
}

TEST(Names, IndexOfANameOrTheCount)
{
    EXPECT_EQ(name_index("zero\0one\0two\0", "zero"), 0u);
    EXPECT_EQ(name_index("zero\0one\0two\0", "two"), 2u);
    EXPECT_EQ(name_index("zero\0one\0two\0", "tw"), 3u);
    EXPECT_EQ(name_index("zero\0one\0two\0", ""), 3u);
    EXPECT_EQ(name_index("", "zero"), 0u);
}

TEST(Names, EnumNamesFollowTheirEnums)
{
    EXPECT_STREQ(error_name(Error::InvalidArgument), "invalid argument");
    EXPECT_STREQ(error_name(Error::Busy), "busy");
    EXPECT_STREQ(error_name(static_cast<Error>(200)), "?");
    EXPECT_STREQ(task_status_name(TaskStatus::Skipped), "skipped");
    EXPECT_STREQ(boot_phase_name(BootPhase::Optional), "optional");
}
