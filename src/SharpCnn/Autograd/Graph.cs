using System.Diagnostics;

namespace SharpCnn.Autograd;

/// <summary>Records operations and walks them backwards (micrograd's toposort, reversed).</summary>
internal static class Graph
{
    /// <summary>True when an op reading <paramref name="inputs"/> must be recorded.</summary>
    public static bool ShouldRecord(params ReadOnlySpan<Tensor?> inputs)
    {
        if (!Autograd.IsGradEnabled)
        {
            return false;
        }

        foreach (Tensor? t in inputs)
        {
            if (t is not null && t.RequiresGrad)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records a one-input op; <paramref name="rule"/> gets (gradOutput, input).</summary>
    public static Tensor Record(Tensor result, Tensor input, Func<Tensor, Tensor, Tensor?[]> rule, string name)
    {
        if (!ShouldRecord(input))
        {
            return result;
        }

        return Attach(result, new GradFn(name, [input], g => rule(g, input)));
    }

    /// <summary>Records an op over several inputs (nulls allowed for absent optional inputs).</summary>
    public static Tensor Record(Tensor result, string name, Tensor?[] inputs, Func<Tensor, Tensor?[]> rule)
    {
        if (!ShouldRecord(inputs))
        {
            return result;
        }

        // Absent optional inputs become placeholders that never require grad.
        var present = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            present[i] = inputs[i] ?? s_absent;
        }

        return Attach(result, new GradFn(name, present, rule));
    }

    private static readonly Tensor s_absent = new([0f], []);

    private static Tensor Attach(Tensor result, GradFn fn)
    {
        result.RequiresGrad = true;
        result.SetGradFn(fn);
        if (OpTimings.IsRecording)
        {
            OpTimings.RecordForward(fn);
        }

        return result;
    }

    public static void Backward(Tensor root, Tensor? seed)
    {
        if (!root.RequiresGrad)
        {
            throw new InvalidOperationException(
                "Backward() was called on a tensor that does not require grad and has no recorded operation: " +
                "no input of the computation had RequiresGrad set, or it was computed under Autograd.NoGrad().");
        }

        // Leases rented from here on (inside a TensorScope) are this pass's own gradients and temporaries.
        long born = StoragePool.RentCount;
        if (seed is null)
        {
            if (root.Numel != 1)
            {
                throw new InvalidOperationException(
                    $"Backward() without a gradient needs a one-element result, but the result has shape {Shapes.Format(root.ShapeSpan)}; pass the gradient explicitly.");
            }

            seed = Tensor.Ones(root.Shape);
        }
        else if (!Shapes.Equal(seed.ShapeSpan, root.ShapeSpan))
        {
            throw new ArgumentException($"Backward(): gradient shape {Shapes.Format(seed.ShapeSpan)} does not match the result shape {Shapes.Format(root.ShapeSpan)}.");
        }

        List<Tensor> order = TopologicalOrder(root);
        CheckUsable(order, seed);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = seed };
        Hold(seed, born);
        using NoGradScope scope = Autograd.NoGrad();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            Tensor t = order[i];
            if (!grads.Remove(t, out Tensor? g))
            {
                continue;
            }

            // Inside a TensorScope, what this step rents and does not leave in `grads` is dead once the step is
            // done (rules are pure: they keep nothing but what they return), and so is g unless a returned
            // gradient shares its storage. Giving those back at once bounds the pass's memory by the gradients
            // in flight instead of every gradient and temporary of the whole pass.
            // g is complete here: the walk is in reverse topological order, so every op that read t was visited
            // (and summed its contribution in) before t.
            t.RunGradHooks(g);
            int mark = TensorScope.Mark();
            GradFn? fn = t.GradFn;
            long started = OpTimings.IsRecording ? OpTimings.StartNode() : 0;
            if (fn is null)
            {
                if (!Accumulate(t, g, born))
                {
                    Release(g, born);
                }

                if (started != 0)
                {
                    OpTimings.RecordAccumulate(started);
                }

                continue;
            }

            Tensor?[] inputGrads = fn.Backward(g);
            long ruleDone = started != 0 ? Stopwatch.GetTimestamp() : 0;
            for (int k = 0; k < fn.Inputs.Count; k++)
            {
                Tensor input = fn.Inputs[k];
                if (!input.RequiresGrad)
                {
                    continue;
                }

                Tensor? gi = k < inputGrads.Length ? inputGrads[k] : null;
                if (gi is null)
                {
                    throw new NotSupportedException($"{fn.Name}: the gradient with respect to input {k} is not implemented, but that input requires grad.");
                }

                if (!Shapes.Equal(gi.ShapeSpan, input.ShapeSpan))
                {
                    throw new InvalidOperationException(
                        $"{fn.Name}: the backward rule returned a gradient of shape {Shapes.Format(gi.ShapeSpan)} for input {k} of shape {Shapes.Format(input.ShapeSpan)}.");
                }

                if (grads.TryGetValue(input, out Tensor? existing))
                {
                    // Rules may hand back the very tensor they received (Add does), so sum into a new one.
                    Tensor sum = existing + gi;
                    grads[input] = sum;
                    Hold(sum, born);
                    Release(existing, born);
                }
                else
                {
                    grads[input] = gi;
                    Hold(gi, born);
                }
            }

            Release(g, born);
            TensorScope.ReturnUnreferencedSince(mark);
            if (started != 0)
            {
                OpTimings.RecordBackward(fn, started, ruleDone);
            }
        }
    }

    /// <summary>Counts a reference from the pending-gradient table to <paramref name="t"/>'s storage, if this pass rented it.</summary>
    private static void Hold(Tensor t, long born)
    {
        if (t.Lease is { Kind: LeaseKind.Scope } lease && lease.RentStamp > born)
        {
            lease.BackwardRefs++;
        }
    }

    /// <summary>Drops a reference taken by <see cref="Hold"/>; storage this pass rented that nothing references any more goes back to the pool.</summary>
    private static void Release(Tensor t, long born)
    {
        if (t.Lease is { Kind: LeaseKind.Scope } lease && lease.RentStamp > born && --lease.BackwardRefs == 0 && !t.IsReleased && !lease.Kept)
        {
            StoragePool.Return(lease);
        }
    }

    /// <summary>
    /// Refuses, before any gradient is accumulated, a graph that reaches memory recycled by an ended
    /// <see cref="TensorScope"/>: its rules would read released tensors (or arrays captured with them).
    /// </summary>
    private static void CheckUsable(List<Tensor> order, Tensor seed)
    {
        foreach (Tensor t in order)
        {
            bool released = t.IsReleased || seed.IsReleased;
            string what = t.GradFn?.Name ?? "a leaf tensor";
            if (!released && t.GradFn is { } fn)
            {
                released = !fn.IsUsable;
                foreach (Tensor input in fn.Inputs)
                {
                    released |= input.IsReleased;
                }
            }

            if (released)
            {
                throw new InvalidOperationException(
                    $"Backward() reached {what}, whose memory was recycled when its TensorScope ended (e.g. the end of a Trainer step); " +
                    "call Backward() inside the scope that computed the result.");
            }
        }
    }

    /// <summary>Adds g into the leaf's gradient; true when the leaf took over g's storage (g is then released and already accounted for).</summary>
    private static bool Accumulate(Tensor leaf, Tensor g, long born)
    {
        if (leaf.Grad is null)
        {
            // The first gradient is never pooled (it outlives every scope): the parameter's own buffer taken back by
            // the trainer from the previous step, a new buffer, or g's own storage when the leaf may adopt it.
            StorageLease? spare = null;
            if (leaf is Nn.Parameter p)
            {
                spare = p.SpareGradient;
                p.SpareGradient = null;
            }

            if (CanAdopt(g, born, spare))
            {
                // No Release afterwards: the pool may already have handed the exchanged lease to another thread.
                leaf.Grad = Tensor.AdoptGradient(leaf, g, spare);
                return true;
            }

            leaf.Grad = Tensor.NewGradient(leaf, spare, g.Data, classSized: g.Lease is { Kind: LeaseKind.Scope });
        }
        else
        {
            Span<float> grad = leaf.Grad.Data;
            Kernels.Elementwise.Add(grad, g.Data, grad);
        }

        return false;
    }

    /// <summary>
    /// Whether a leaf's first gradient may take over <paramref name="g"/>'s storage instead of copying it: exactly
    /// when <see cref="Release"/> would give that storage back to the pool right after the copy. It was rented
    /// during this pass (so no forward tensor, saved input or seed the caller holds can share it); the pending
    /// table's one reference, held for this very g, is the only one (no other pending gradient is g or a view of
    /// it; rules keep nothing); nobody called <see cref="Tensor.Keep"/> on it (a hook that keeps the gradient). A
    /// spare buffer of another length is reused by copying instead, so a loop that recycles gradients never
    /// allocates.
    /// </summary>
    private static bool CanAdopt(Tensor g, long born, StorageLease? spare) =>
        g.Lease is { Kind: LeaseKind.Scope, SizeClass: >= 0, Kept: false, BackwardRefs: 1 } lease
        && lease.RentStamp > born
        && !g.IsReleased
        && (spare is null || spare.Array.Length == lease.Array.Length);

    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Node, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            (Tensor node, int next) = stack.Pop();
            IReadOnlyList<Tensor> inputs = node.GradFn?.Inputs ?? [];
            if (next < inputs.Count)
            {
                stack.Push((node, next + 1));
                Tensor child = inputs[next];
                if (child.RequiresGrad && visited.Add(child))
                {
                    stack.Push((child, 0));
                }
            }
            else
            {
                order.Add(node);
            }
        }

        return order;
    }
}
