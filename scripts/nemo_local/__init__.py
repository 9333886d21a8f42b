"""The local NemoVideo backend: the same HTTP API, served on this machine, rendering real MP4s with ffmpeg.

    service/   the web service: routes, records (SQLite), uploads, the render queue, the server
    director/  words -> draft: the only place a user's request becomes a timeline
    draft      the draft format: track kinds, keys, fields, limits and the schema a render is checked against
    analysis/  beats, bars, drops and sections of the audio
    render/    draft -> MP4, as a stack of layers
    speech/    speech recognition, alignment, the user's own words, caption pages
    media/     ffmpeg: probing, decoding, the processes a render owns; synthetic test tracks

Needs the optional dependencies: ``pip install -e '.[local]'``.
"""
