"""Media through ffmpeg: finding it, probing files, decoding PCM (`ffmpeg`), the child processes a render owns
(`procs`), and synthetic test tracks (`synth`)."""
