import Feedback
import FeedbackWire

/// libFuzzer's entry point (scripts/fuzz.sh builds it with `-sanitize=fuzzer`): any bytes through the event
/// reader. Nothing may crash, hang or overflow the stack, and the fast reader and the reference decoding must
/// agree — on whether the bytes are an event, and on the event.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let reference = try? DecodedEvent(reference: bytes, fallbackID: "fuzz")
    let decoded = DecodedEvent.decode(json: bytes, fallbackID: "fuzz")
    if (decoded == nil) != (reference == nil) {
        fatalError("the readers disagree on \(String(decoding: bytes.prefix(300), as: UTF8.self))")
    }
    if let decoded, let reference {
        func close(_ x: Double, _ y: Double) -> Bool { x == y || x.nextUp == y || x.nextDown == y }
        var (a, b) = (decoded, reference)
        guard close(a.score, b.score), close(a.amount ?? 0, b.amount ?? 0), (a.amount == nil) == (b.amount == nil)
        else { fatalError("numbers differ: \(a) against \(b)") }
        (a.score, b.score, a.amount, b.amount) = (0, 0, nil, nil)
        if a != b { fatalError("events differ: \(a) against \(b)") }
    }
    if decoded == nil { _ = EventReader.reason(bytes).description }
    return 0
}

#if FUZZING
    /// libFuzzer's driver (the fuzzer runtime exports it): SwiftPM links an executable's entry point under
    /// its own name (`FeedbackFuzz_main`), so the target starts libFuzzer from there.
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @_cdecl("FeedbackFuzz_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var (count, arguments) = (argc, argv)
        return runFuzzerDriver(&count, &arguments, fuzzEventReader)
    }
#else
    import Foundation

    /// Without libFuzzer (a plain build): runs the target once over each file given — to replay a finding.
    ///
    /// ```sh
    /// swift run FeedbackFuzz .build-fuzz/crashes/crash-*
    /// ```
    @main
    struct ReplayFindings {
        static func main() throws {
            for path in CommandLine.arguments.dropFirst() {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                _ = bytes.withUnsafeBufferPointer { fuzzEventReader($0.baseAddress, $0.count) }
                print("\(path): ok")
            }
        }
    }
#endif
