//! Bounded waits on an observable condition — a state, a count, a signal — instead of fixed sleeps: the condition
//! is polled every few milliseconds until it holds, and a test that waits in vain fails at a deadline, saying
//! what it waited for and what it saw last.

use std::{fmt::Debug, time::Duration};

use tokio::time::Instant;

/// How often a condition is checked: short next to any step of a test, long enough not to load the services.
pub const POLL: Duration = Duration::from_millis(20);

/// Checks `probe` until it returns `Ok(value)` and returns the value. `Err(seen)` means "not yet" and carries
/// what was observed; when `timeout` has passed (or a check hangs past it) the test fails with `what` and the
/// last observation.
pub async fn until<T, S: Debug>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, S>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, probe()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(seen)) if Instant::now() >= deadline => {
                panic!("waited {timeout:?} for {what}; last seen: {seen:?}")
            }
            Ok(Err(_)) => tokio::time::sleep(POLL).await,
            Err(_) => panic!("waited {timeout:?} for {what}; the last check did not answer"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_what_the_probe_found_once_it_holds() {
        let mut checks = 0;
        let found = until("the third check", Duration::from_secs(5), async || {
            checks += 1;
            if checks == 3 { Ok(checks) } else { Err(checks) }
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "for a condition that never holds; last seen: \"no\"")]
    async fn fails_at_the_deadline_saying_what_it_saw() {
        until(
            "a condition that never holds",
            Duration::from_millis(100),
            async || Err::<(), _>("no"),
        )
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "the last check did not answer")]
    async fn a_check_that_hangs_fails_at_the_deadline() {
        until("a hung check", Duration::from_millis(100), async || {
            std::future::pending::<Result<(), ()>>().await
        })
        .await;
    }
}
