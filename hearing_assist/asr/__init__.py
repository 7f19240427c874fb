"""Live and offline captioning: Whisper (CTranslate2) behind a VAD gate, a streaming commit policy, caption export.

Modules: ``transcript`` (words, transcripts), ``models`` (model registry), ``engine`` (Whisper engine), ``vad`` (Silero VAD
and segmenter), ``guards`` (hallucination guards), ``agreement`` (LocalAgreement commit maths), ``streaming`` (live
recognizer), ``captions`` (caption model and snapshots), ``export`` (SRT/WebVTT/TXT), ``wer`` (normalised WER),
``files`` (caption a file offline or through the live path), ``ct2_format`` / ``convert`` (the CTranslate2 model
as a transformers Whisper, for personalisation). The live ASR thread is ``hearing_assist.pipeline.captioner``.
Importing this package loads no model.
"""
