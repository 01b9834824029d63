//! # weft-store-suite
//!
//! What every storage backend must do, written once as test bodies over
//! `weft-core`'s traits and run against each backend by [`suite!`]: the
//! embedded store's tests and the PostgreSQL store's are the same tests.
//! [`pg::PgServer`] starts a real PostgreSQL for the tests that need one.
//!
//! A backend's crate runs the suite from its tests:
//!
//! ```ignore
//! weft_store_suite::suite!(Db::temporary().unwrap());
//! ```

pub mod pg;
pub mod tests;

use weft_core::Store;
use weft_core::kv::KvStore;

/// A storage backend as the suite sees it: every storage trait.
pub trait Backend: Store + KvStore {}

impl<T: Store + KvStore> Backend for T {}

/// A `#[test]` for each of the suite's bodies, each on a new store made by `$open`.
#[macro_export]
macro_rules! suite {
    ($open:expr) => {
        $crate::suite!(@each $open;
            flows_get_a_new_version_only_when_changed,
            runs_move_between_queue_and_timers,
            a_runs_event_is_kept_through_every_change,
            runs_are_listed_newest_first_within_a_time_span,
            test_runs_are_listed_and_counted_apart,
            ended_runs_are_listed_by_flow_class_and_end_and_deleted_whole,
            step_records_keep_their_order_and_are_written_with_the_run,
            runs_spawned_with_a_write_are_queued_with_it_and_a_waiting_run_wakes_now,
            hook_tokens_follow_their_record_and_events_land_with_their_state,
            connections_keep_secrets_and_list_without_them,
            oauth_grants_change_only_from_the_version_read,
            kv_quota_counts_each_entry_and_refuses_without_change,
            kv_the_number_of_keys_is_capped,
            kv_namespaces_do_not_see_each_other,
            kv_keys_are_listed_in_byte_order_by_prefix
        );
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let store = $open;
                $crate::tests::$name(&store);
            }
        )*
    };
}
