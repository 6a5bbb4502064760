//! What licensing answers billing (B3, B8, B9): done, worth asking again later, or refused for good. Purchases
//! and renewals both decide on it.

/// What licensing answered when asked to issue or refresh (B3, B8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Done(T),
    /// Licensing is down, overloaded or too slow: asking again later may succeed.
    Unavailable(String),
    /// Licensing said no; asking again will not help.
    Refused(String),
}
