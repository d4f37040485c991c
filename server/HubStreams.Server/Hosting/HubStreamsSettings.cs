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
    public ServerSentEventsOptions ServerSentEvents { get; } = new();

    /// <summary>The demo producer's settings.</summary>
    public DemoOptions Demo { get; } = new();

    /// <summary>Authentication and per-caller limits.</summary>
    public Security.SecuritySettings Security { get; } = new();

    /// <summary>
    /// Reads and checks every setting. Each bad value is named, with what it accepts, in one
    /// <see cref="HubStreamsConfigurationException"/>.
    /// </summary>
    public static HubStreamsSettings Read(IConfiguration configuration) => Read(new SettingReader(configuration));

    /// <summary>
    /// Checks every option's rules, for settings changed by code after they were read.
    /// </summary>
    /// <exception cref="HubStreamsConfigurationException">A value breaks its rule; the message names each, in one line.</exception>
    public void EnsureValid()
    {
        var reader = new SettingReader(new ConfigurationBuilder().Build());
        CheckOptions(reader);
        reader.ThrowIfAnyInvalid();
    }

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
            v => settings.RedisConnection.Address = v, shown: RedisConnectionSettings.HideSecrets,
            sets: (settings.RedisConnection, nameof(RedisConnectionSettings.Address)));
        reader.Apply("REDIS_USERNAME", "RedisUsername", "an ACL user name", v => settings.RedisConnection.Username = v);
        reader.Apply("REDIS_PASSWORD", "RedisPassword", "a password", v => settings.RedisConnection.Password = v, secret: true);
        reader.Apply("REDIS_DB", "RedisDb", "an integer 0 or more", v => settings.RedisConnection.Database = SettingReader.ParseInt(v),
            sets: (settings.RedisConnection, nameof(RedisConnectionSettings.Database)));
        reader.Apply("REDIS_PREFIX", "RedisPrefix", "a non-empty key prefix without { or }", v => settings.Redis.Prefix = v,
            sets: (settings.Redis, nameof(RedisStreamOptions.Prefix)));
        reader.Apply("REDIS_WAIT_REPLICAS", "RedisWaitReplicas", "an integer 0 or more",
            v => settings.Redis.WaitReplicas = SettingReader.ParseInt(v), sets: (settings.Redis, nameof(RedisStreamOptions.WaitReplicas)));
        reader.Apply("REDIS_WAIT_TIMEOUT", "RedisWaitTimeout", "a duration such as 00:00:01 or 00:00:00.250, or whole seconds, at least 1 ms",
            v => settings.Redis.WaitTimeout = SettingReader.ParseDuration(v), sets: (settings.Redis, nameof(RedisStreamOptions.WaitTimeout)));
        reader.Apply("REDIS_USE_TLS", "RedisUseTls", "'true' or 'false'", v => settings.RedisConnection.UseTls = SettingReader.ParseBool(v));
        reader.Apply("STREAM_TTL", "StreamTtl", "a duration such as 01:00:00, or whole seconds, at least 1 ms",
            v => settings.Streams.Ttl = SettingReader.ParseDuration(v), sets: (settings.Streams, nameof(StreamOptions.Ttl)));
        reader.Apply("STREAM_PRODUCER_TIMEOUT", "StreamProducerTimeout", "a duration such as 00:05:00, or whole seconds; 0 turns it off",
            v => settings.Streams.ProducerTimeout = SettingReader.ParseDuration(v), sets: (settings.Streams, nameof(StreamOptions.ProducerTimeout)));
        reader.Apply("STREAM_MAX_EVENTS", "StreamMaxEvents", "an integer 2 or more",
            v => settings.Streams.MaxEvents = SettingReader.ParseInt(v), sets: (settings.Streams, nameof(StreamOptions.MaxEvents)));
        reader.Apply("STREAM_MAX_EVENT_BYTES", "StreamMaxEventBytes", $"an integer {StreamOptions.MinMaxEventBytes} or more",
            v => settings.Streams.MaxEventBytes = SettingReader.ParseInt(v), sets: (settings.Streams, nameof(StreamOptions.MaxEventBytes)));
        reader.Apply("STREAM_MAX_PAGE_EVENTS", "StreamMaxPageEvents", "an integer 1 or more",
            v => settings.Streams.MaxPageEvents = SettingReader.ParseInt(v), sets: (settings.Streams, nameof(StreamOptions.MaxPageEvents)));
        reader.Apply("STREAM_MAX_PAGE_BYTES", "StreamMaxPageBytes", "an integer 1024 or more",
            v => settings.Streams.MaxPageBytes = SettingReader.ParseInt(v), sets: (settings.Streams, nameof(StreamOptions.MaxPageBytes)));
        reader.Apply("STREAM_MEMORY_LIMIT", "StreamMemoryLimit", "a size of at least 1 MiB, in bytes or with a unit such as 512MB or 2GB",
            v => settings.Streams.MemoryLimit = SettingReader.ParseBytes(v), sets: (settings.Streams, nameof(StreamOptions.MemoryLimit)));
        reader.Apply("STREAM_SAFETY_NET_INTERVAL", "SafetyNetInterval", "a duration such as 00:00:30, or whole seconds, at least 1 s",
            v => settings.Redis.SafetyNetInterval = SettingReader.ParseDuration(v), sets: (settings.Redis, nameof(RedisStreamOptions.SafetyNetInterval)));

        reader.Apply("SSE_HEARTBEAT_INTERVAL", "SseHeartbeatInterval", "a duration such as 00:00:15, or whole seconds, at least 1 s",
            v => settings.ServerSentEvents.HeartbeatInterval = SettingReader.ParseDuration(v),
            sets: (settings.ServerSentEvents, nameof(ServerSentEventsOptions.HeartbeatInterval)));
        reader.Apply("SSE_WRITE_TIMEOUT", "SseWriteTimeout", "a duration such as 00:00:30, or whole seconds, at least 1 s",
            v => settings.ServerSentEvents.WriteTimeout = SettingReader.ParseDuration(v),
            sets: (settings.ServerSentEvents, nameof(ServerSentEventsOptions.WriteTimeout)));
        reader.Apply("DEMO_ENABLED", "DemoEnabled", "'true' or 'false'", v => settings.Demo.Enabled = SettingReader.ParseBool(v));
        reader.Apply("DEMO_CHUNK_INTERVAL", "DemoChunkInterval", "a duration such as 00:00:00.020, at least 0",
            v => settings.Demo.ChunkInterval = SettingReader.ParseDuration(v), sets: (settings.Demo, nameof(DemoOptions.ChunkInterval)));

        settings.Security.Read(reader);
        settings.CheckOptions(reader);
        reader.ThrowIfAnyInvalid();
        return settings;
    }

    // Every rule of every option, each kept in its options class.
    private void CheckOptions(SettingReader reader)
    {
        reader.Check(RedisConnection, RedisConnection.Problems());
        reader.Check(Redis, Redis.Problems());
        reader.Check(Streams, Streams.Problems());
        reader.Check(ServerSentEvents, ServerSentEvents.Problems());
        reader.Check(Demo, Demo.Problems());
        reader.Check(Security, Security.Problems());
    }
}

/// <summary>A setting is invalid; start-up stops. The message names every bad setting and what it accepts.</summary>
public sealed class HubStreamsConfigurationException(string message) : Exception(message);
