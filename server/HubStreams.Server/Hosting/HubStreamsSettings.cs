using System.Globalization;
using HubStreams.Server.Demo;
using HubStreams.Server.Transport;
using HubStreams.Streams;
using HubStreams.Streams.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>Where streams are kept.</summary>
public enum StreamStoreType
{
    /// <summary>In this process's memory: one node, no Redis.</summary>
    Memory,
    /// <summary>In Redis: any number of nodes share the streams.</summary>
    Redis,
}

/// <summary>
/// Every HubStreams setting, read from configuration: the environment variable of the original design
/// (<c>STREAM_MANAGER_TYPE</c>, <c>REDIS_ADDR</c>, …) wins over the same setting in the <c>HubStreams</c>
/// section of <c>appsettings.json</c> (<c>StreamManagerType</c>, <c>RedisAddr</c>, …).
/// </summary>
public sealed class HubStreamsSettings
{
    /// <summary>The configuration section that holds the settings.</summary>
    public const string SectionName = "HubStreams";

    /// <summary>Where streams are kept (<c>STREAM_MANAGER_TYPE</c>). Default memory.</summary>
    public StreamStoreType StoreType { get; set; } = StreamStoreType.Memory;

    /// <summary>Stream limits and lifetime, enforced by every store.</summary>
    public StreamOptions Streams { get; } = new();

    /// <summary>How to reach Redis, in redis mode.</summary>
    public RedisConnectionSettings RedisConnection { get; } = new();

    /// <summary>Key layout and wake-up settings of the Redis store.</summary>
    public RedisStreamOptions Redis { get; } = new();

    /// <summary>How Server-Sent Events responses behave.</summary>
    public ServerSentEventsOptions ServerSentEvents { get; set; } = new(ServerSentEventsOptions.DefaultHeartbeatInterval, ServerSentEventsOptions.DefaultWriteTimeout);

    /// <summary>The demo producer's settings.</summary>
    public DemoOptions Demo { get; set; } = new(Enabled: null, DemoOptions.DefaultChunkInterval);

    /// <summary>Authentication and per-caller limits.</summary>
    public Security.SecuritySettings Security { get; } = new();

    /// <summary>
    /// Reads and checks every setting. Each bad value is named, with what it accepts, in one
    /// <see cref="HubStreamsConfigurationException"/>.
    /// </summary>
    public static HubStreamsSettings Read(IConfiguration configuration) => Read(new SettingReader(configuration));

    /// <summary>The environment variables HubStreams reads, in the order it reads them.</summary>
    internal static IReadOnlyList<string> VariableNames()
    {
        var reader = new SettingReader(new ConfigurationBuilder().Build());
        Read(reader);
        return reader.Variables;
    }

    private static HubStreamsSettings Read(SettingReader reader)
    {
        var settings = new HubStreamsSettings();

        reader.Apply("STREAM_MANAGER_TYPE", "StreamManagerType", "'memory' or 'redis'",
            v => settings.StoreType = v.ToLowerInvariant() switch
            {
                "memory" => StreamStoreType.Memory,
                "redis" => StreamStoreType.Redis,
                _ => throw new FormatException(),
            });
        reader.Apply("REDIS_ADDR", "RedisAddr",
            "host:port, a StackExchange.Redis configuration string, or redis://[user[:password]@]host[:port][/database] (rediss:// for TLS)",
            v => settings.RedisConnection.Address = v, shown: RedisConnectionSettings.HideSecrets);
        reader.Apply("REDIS_USERNAME", "RedisUsername", "an ACL user name", v => settings.RedisConnection.Username = v);
        reader.Apply("REDIS_PASSWORD", "RedisPassword", "a password", v => settings.RedisConnection.Password = v, secret: true);
        reader.Apply("REDIS_DB", "RedisDb", "an integer 0 or more", v => settings.RedisConnection.Database = SettingReader.ParseInt(v));
        reader.Apply("REDIS_PREFIX", "RedisPrefix", "a non-empty key prefix without { or }", v => settings.Redis.Prefix = v);
        reader.Apply("REDIS_WAIT_REPLICAS", "RedisWaitReplicas", "an integer 0 or more",
            v => settings.Redis.WaitReplicas = SettingReader.ParseInt(v));
        reader.Apply("REDIS_WAIT_TIMEOUT", "RedisWaitTimeout", "a duration such as 00:00:01 or 00:00:00.250, or whole seconds, at least 1 ms",
            v => settings.Redis.WaitTimeout = SettingReader.ParseDuration(v));
        reader.Apply("REDIS_USE_TLS", "RedisUseTls", "'true' or 'false'", v => settings.RedisConnection.UseTls = SettingReader.ParseBool(v));
        reader.Apply("STREAM_TTL", "StreamTtl", "a duration such as 01:00:00, or whole seconds, at least 1 ms",
            v => settings.Streams.Ttl = SettingReader.ParseDuration(v));
        reader.Apply("STREAM_MAX_EVENTS", "StreamMaxEvents", "an integer 2 or more", v => settings.Streams.MaxEvents = SettingReader.ParseInt(v));
        reader.Apply("STREAM_MAX_EVENT_BYTES", "StreamMaxEventBytes", $"an integer {StreamOptions.MinMaxEventBytes} or more",
            v => settings.Streams.MaxEventBytes = SettingReader.ParseInt(v));
        reader.Apply("STREAM_MAX_PAGE_EVENTS", "StreamMaxPageEvents", "an integer 1 or more",
            v => settings.Streams.MaxPageEvents = SettingReader.ParseInt(v));
        reader.Apply("STREAM_MAX_PAGE_BYTES", "StreamMaxPageBytes", "an integer 1024 or more",
            v => settings.Streams.MaxPageBytes = SettingReader.ParseInt(v));
        reader.Apply("STREAM_SAFETY_NET_INTERVAL", "SafetyNetInterval", "a duration such as 00:00:30, or whole seconds, at least 1 s",
            v => settings.Redis.SafetyNetInterval = SettingReader.ParseDuration(v));

        reader.Apply("SSE_HEARTBEAT_INTERVAL", "SseHeartbeatInterval", "a duration such as 00:00:15, or whole seconds, at least 1 s",
            v => settings.ServerSentEvents = settings.ServerSentEvents with { HeartbeatInterval = SettingReader.AtLeast(SettingReader.ParseDuration(v), TimeSpan.FromSeconds(1)) });
        reader.Apply("SSE_WRITE_TIMEOUT", "SseWriteTimeout", "a duration such as 00:00:30, or whole seconds, at least 1 s",
            v => settings.ServerSentEvents = settings.ServerSentEvents with { WriteTimeout = SettingReader.AtLeast(SettingReader.ParseDuration(v), TimeSpan.FromSeconds(1)) });
        reader.Apply("DEMO_ENABLED", "DemoEnabled", "'true' or 'false'", v => settings.Demo = settings.Demo with { Enabled = SettingReader.ParseBool(v) });
        reader.Apply("DEMO_CHUNK_INTERVAL", "DemoChunkInterval", "a duration such as 00:00:00.020, at least 0",
            v => settings.Demo = settings.Demo with { ChunkInterval = SettingReader.AtLeast(SettingReader.ParseDuration(v), TimeSpan.Zero) });

        settings.Security.Read(reader);

        reader.ThrowIfAnyInvalid();
        return settings;
    }
}

/// <summary>A setting is invalid; start-up stops. The message names every bad setting and what it accepts.</summary>
public sealed class HubStreamsConfigurationException(string message) : Exception(message);
