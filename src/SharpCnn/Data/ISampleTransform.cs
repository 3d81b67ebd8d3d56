namespace SharpCnn.Data;

/// <summary>
/// A per-sample transform the <see cref="DataLoader"/> applies before stacking (augmentation, normalisation):
/// the contract the loader needs, kept in the core so that it does not depend on <c>SharpCnn.Vision</c>, whose
/// <c>ITransform</c> extends it.
/// </summary>
/// <remarks>
/// Every random choice must be drawn from <c>generator</c> and from nothing else (no <see cref="Generator.Default"/>,
/// no clock, no state kept between calls): the loader seeds it per sample from (loader seed, epoch, sample index)
/// (<see cref="DataLoader.SampleSeed"/>), which is what makes augmented batches independent of the worker count
/// and exact on resume. With more than one worker the transform is called from several threads at once, so it
/// must not mutate shared state; it must not modify its input either (a dataset may hand out a cached tensor).
/// </remarks>
public interface ISampleTransform
{
    /// <summary>Transforms one sample (e.g. C×H×W), drawing any randomness from <paramref name="generator"/>.</summary>
    Tensor Apply(Tensor input, Generator generator);
}
