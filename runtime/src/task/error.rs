//! `TaskError`: why a task gave no output. Layer 4 (tasks): uses only `record::report`.

use std::any::Any;
use std::fmt;

use crate::record::report::panic_message;

/// Why a task gave no output.
///
/// # Examples
///
/// ```
/// use corun_runtime::TaskError;
///
/// let error = TaskError::Cancelled;
/// assert_eq!(error.to_string(), "task was cancelled");
/// ```
pub enum TaskError {
    /// The task panicked; this is the panic's payload, as `std::panic::catch_unwind` gives it.
    Panicked(Box<dyn Any + Send>),
    /// The task was cancelled before it finished.
    Cancelled,
}

impl TaskError {
    /// Whether this is [`TaskError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corun_runtime::TaskError::Cancelled.is_cancelled());
    /// ```
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&panic_message(&**payload))
                .finish(),
            TaskError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => {
                write!(f, "task panicked: {}", panic_message(&**payload))
            }
            TaskError::Cancelled => f.write_str("task was cancelled"),
        }
    }
}

impl std::error::Error for TaskError {}
