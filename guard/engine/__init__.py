"""Engines: the model behind the guard. Import the one you need from its module
(`guard.engine.onnx.OnnxEngine`, `guard.engine.fake.FakeEngine`); nothing heavy loads here."""
