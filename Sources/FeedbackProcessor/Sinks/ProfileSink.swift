/// Where the processor publishes user profiles after each batch (besides its embedded store): Redis
/// (module `FeedbackProcessorRedis`), or anything that takes absolute profiles.
///
/// ```swift
/// final class PrintingSink: ProfileSink {
///     func write(_ profiles: [UserProfile]) throws { profiles.forEach { print($0.user, $0.counts) } }
/// }
/// let processor = try FeedbackProcessor(log: log, configuration: configuration, profileSinks: [PrintingSink()])
/// ```
public protocol ProfileSink: AnyObject {
    /// Replaces the stored profiles of these users with these (absolute) values. Called inside the batch's
    /// transaction, before it commits: a failure rolls the batch back, and a retried batch writes the same
    /// values again, so nothing is counted twice.
    func write(_ profiles: [UserProfile]) throws
}
