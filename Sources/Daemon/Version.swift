// The version the daemon reports on /v1/health.
public enum SightlineVersion {
    public static let string = "0.1.0-dev"
}
