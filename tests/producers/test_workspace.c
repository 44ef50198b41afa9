/* Resources, sandboxes/checkpoints and the validation pipeline: exact event sequences, including
 * rollback after failed validation, and refused operations. */
#include "svc_fixture.h"
#include <evring/platform.h>

TestSuite(resource, .init = fx_setup, .fini = fx_teardown);

Test(resource, accessed_modified_indexed_with_their_fields)
{
	struct evr_record r[64];
	cr_assert_eq(evr_resource_access(&fx_svc, 1, 2, 50, "src/a.c", "rw"), 0);
	cr_assert_eq(evr_resource_modify(&fx_svc, 1, 2, 50, "src/a.c", 4096), 0);
	cr_assert_eq(evr_resource_index(&fx_svc, 1, 2, 50, "src/a.c", 9), 0);
	cr_assert_eq(evr_resource_access(&fx_svc, 1, 2, 50, "src/a.c", "x"), -EINVAL, "bad mode");
	cr_assert_eq(evr_resource_modify(&fx_svc, 1, 2, 50, "", 1), -EINVAL, "empty path");
	cr_assert_eq(evr_resource_index(&fx_svc, 1, 2, 0, "a", 1), -EINVAL, "id 0");
	FX_EXPECT(r, EVR_RESOURCE_ACCESSED, EVR_RESOURCE_MODIFIED, EVR_RESOURCE_INDEXED);
	cr_assert_str_eq(EVR_EV(&r[0], resource_accessed)->mode, "rw");
	cr_assert_str_eq(EVR_EV(&r[0], resource_accessed)->path, "src/a.c");
	cr_assert_eq(EVR_EV(&r[1], resource_modified)->bytes, 4096);
	cr_assert_eq(EVR_EV(&r[2], resource_indexed)->chunks, 9);
	cr_assert_eq(EVR_EV(&r[2], resource_indexed)->resource_id, 50);
}

Test(resource, an_oversized_path_is_truncated_and_flagged_not_refused)
{
	struct evr_record r[64];
	char path[100];
	memset(path, 'p', sizeof path - 1);
	path[sizeof path - 1] = 0;
	cr_assert_eq(evr_resource_modify(&fx_svc, 1, 2, 50, path, 1), 0);
	FX_EXPECT(r, EVR_RESOURCE_MODIFIED);
	cr_assert(r[0].flags & EVR_REC_TRUNCATED);
	cr_assert_eq(strlen(EVR_EV(&r[0], resource_modified)->path), sizeof EVR_EV(&r[0], resource_modified)->path - 1);
}

TestSuite(sandbox, .init = fx_setup, .fini = fx_teardown);

Test(sandbox, checkpoint_restore_commit)
{
	struct evr_sandbox sb;
	struct evr_record r[64];
	cr_assert_eq(evr_sandbox_create(&fx_svc, &sb, 10, 1, 2, "main"), 0);
	cr_assert_eq(evr_sandbox_checkpoint(&fx_svc, &sb, 11), 0);
	cr_assert_eq(evr_sandbox_checkpoint(&fx_svc, &sb, 12), 0);
	cr_assert_eq(evr_sandbox_restore(&fx_svc, &sb, 11), 0);
	cr_assert_eq(evr_sandbox_restore(&fx_svc, &sb, 12), -ENOENT, "12 was discarded by the restore to 11");
	sb.files_changed = 3;
	cr_assert_eq(evr_sandbox_commit(&fx_svc, &sb), 0);
	FX_EXPECT(r, EVR_SANDBOX_CREATED, EVR_CHECKPOINT_CREATED, EVR_CHECKPOINT_CREATED, EVR_CHECKPOINT_RESTORED,
		  EVR_SANDBOX_COMMITTED);
	cr_assert_str_eq(EVR_EV(&r[0], sandbox_created)->base, "main");
	cr_assert_eq(EVR_EV(&r[2], checkpoint_created)->checkpoint_id, 12);
	cr_assert_eq(EVR_EV(&r[3], checkpoint_restored)->checkpoint_id, 11);
	cr_assert_eq(EVR_EV(&r[3], checkpoint_restored)->sandbox_id, 10);
	cr_assert_eq(EVR_EV(&r[4], sandbox_committed)->files_changed, 3);
}

Test(sandbox, rollback_names_the_latest_checkpoint_and_closes)
{
	struct evr_sandbox sb;
	struct evr_record r[64];
	evr_sandbox_create(&fx_svc, &sb, 10, 1, 2, "main");
	evr_sandbox_checkpoint(&fx_svc, &sb, 11);
	cr_assert_eq(evr_sandbox_rollback(&fx_svc, &sb, "validation failed"), 0);
	cr_assert_eq(evr_sandbox_commit(&fx_svc, &sb), -EPERM);
	cr_assert_eq(evr_sandbox_checkpoint(&fx_svc, &sb, 13), -EPERM);
	cr_assert_eq(evr_sandbox_rollback(&fx_svc, &sb, "again"), -EPERM);
	FX_EXPECT(r, EVR_SANDBOX_CREATED, EVR_CHECKPOINT_CREATED, EVR_SANDBOX_ROLLED_BACK);
	cr_assert_eq(EVR_EV(&r[2], sandbox_rolled_back)->checkpoint_id, 11);
	cr_assert_str_eq(EVR_EV(&r[2], sandbox_rolled_back)->reason, "validation failed");
}

TestSuite(validation, .init = fx_setup, .fini = fx_teardown);

Test(validation, passes_without_failures_and_fails_with_them)
{
	struct evr_validation v = { .validator = "unit-tests", .plan_id = 6 };
	struct evr_record r[64];
	cr_assert_eq(evr_validation_start(&fx_svc, &v, 40), 0);
	cr_assert_eq(evr_validation_start(&fx_svc, &v, 40), -EPERM, "already running");
	cr_assert_eq(evr_validation_finish(&fx_svc, &v, 0), 0);
	cr_assert_eq(evr_validation_finish(&fx_svc, &v, 0), -EPERM, "not running");
	cr_assert_eq(evr_validation_start(&fx_svc, &v, 40), 0);
	cr_assert_eq(evr_validation_finish(&fx_svc, &v, 41), -EINVAL, "more failures than checks");
	cr_assert_eq(evr_validation_finish(&fx_svc, &v, 3), 0);
	FX_EXPECT(r, EVR_VALIDATION_STARTED, EVR_VALIDATION_PASSED, EVR_VALIDATION_STARTED, EVR_VALIDATION_FAILED);
	cr_assert_eq(EVR_EV(&r[0], validation_started)->check_count, 40);
	cr_assert_str_eq(EVR_EV(&r[1], validation_passed)->validator, "unit-tests");
	cr_assert_eq(EVR_EV(&r[3], validation_failed)->failure_count, 3);
	cr_assert_eq(r[3].plan_id, 6);
}
