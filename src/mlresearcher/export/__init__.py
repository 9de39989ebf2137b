"""Exporting a run's model to formats other runtimes load (ONNX)."""
