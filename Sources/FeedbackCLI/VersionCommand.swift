import ArgumentParser
import Kafka

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the librdkafka version in use.")

    func run() {
        print(
            "librdkafka \(KafkaProducer.libraryVersion)\(KafkaProducer.libraryIsCurrent ? "" : " (too old: run scripts/install-deps.sh)")"
        )
    }
}
