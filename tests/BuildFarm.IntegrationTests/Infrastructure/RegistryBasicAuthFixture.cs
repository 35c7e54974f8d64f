using System.Security.Cryptography;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>A <see cref="RegistryFixture"/> behind htpasswd basic auth with a generated user and password.</summary>
public sealed class RegistryBasicAuthFixture() : RegistryFixture("buildfarm", Convert.ToHexString(RandomNumberGenerator.GetBytes(12)));
