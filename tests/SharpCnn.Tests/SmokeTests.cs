namespace SharpCnn.Tests;

public class SmokeTests
{
    [Fact]
    public void Assembly_Loads_True() => Assert.True(typeof(SmokeTests).Assembly.GetName().Name!.Length > 0);
}
