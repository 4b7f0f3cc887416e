"""Frame sources: images, folders, video files, the camera off the Pi, and open_source."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from station.sources import ImageFolderSource, ImageSource, Picamera2Source, SourceError, VideoFileSource, open_source

from conftest import require_shared


def test_image_source_drops_alpha(tmp_path):
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (32, 24), (10, 20, 30, 128)).save(path)
    frames = list(ImageSource(path))
    assert len(frames) == 1
    timestamp, frame = frames[0]
    assert frame.shape == (24, 32, 3) and frame.dtype == np.uint8
    assert tuple(frame[0, 0]) == (10, 20, 30)


def test_folder_source_orders_by_name_and_times_by_fps(tmp_path):
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        Image.new("RGB", (8, 8), colour).save(tmp_path / f"f{2 - i}.png")
    frames = list(ImageFolderSource(tmp_path, fps=10))
    assert [t for t, _ in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert tuple(frames[0][1][0, 0]) == (0, 0, 255)  # f0.png was written last, in blue


def test_a_folder_skips_an_unreadable_image_and_says_which(tmp_path):
    """One truncated image stopped the whole folder at that file: the rest were never looked at."""
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(tmp_path / f"f{i}.png")
    good = (tmp_path / "f1.png").read_bytes()
    (tmp_path / "f1.png").write_bytes(good[: len(good) // 2])
    source = ImageFolderSource(tmp_path, fps=10)
    frames = list(source)
    assert [t for t, _ in frames] == pytest.approx([0.0, 0.2, 0.3]), "the others, at their own times"
    assert [p.name for p in source.skipped] == ["f1.png"]
    for name in ("f0.png", "f2.png", "f3.png"):
        (tmp_path / name).write_text("not an image")
    with pytest.raises(SourceError, match="none of the 4 images in .* could be read"):
        list(ImageFolderSource(tmp_path))


def test_an_image_claiming_a_billion_pixels_is_a_clear_error_and_skipped_in_a_folder(tmp_path):
    """Pillow's decompression-bomb check is not an OSError: a 100 KB PNG of 30000x30000 gave a
    traceback alone and stopped a whole folder."""
    Image.new("1", (30000, 30000)).save(tmp_path / "huge.png")
    with pytest.raises(SourceError, match="huge.png: it claims more pixels than Pillow will safely open"):
        ImageSource(tmp_path / "huge.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    source = ImageFolderSource(tmp_path)
    assert len(list(source)) == 1 and [p.name for p in source.skipped] == ["huge.png"]


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="holds no images"):
        ImageFolderSource(tmp_path)


def test_video_source_yields_rgb_frames_with_increasing_timestamps():
    clip = require_shared("peer-tfjs-pose-detection", "pose_1.mp4")
    source = VideoFileSource(clip)
    stamps = [t for t, frame in source]
    source.close()
    assert len(stamps) == 120
    assert np.all(np.diff(stamps) > 0)
    assert stamps[-1] == pytest.approx(119 / 30, abs=0.05)


def test_camera_source_off_the_pi_says_picamera2_is_missing():
    """Here: not installed. In an emulated root whose stand-in fails like a numpy-2-shadowed Bookworm
    (STATION_FAKE_PICAMERA2=abi): the numpy advice instead."""
    expected = "picamera2 is not installed"
    try:
        import picamera2  # noqa: F401
        pytest.skip("picamera2 is installed here")
    except ImportError:
        pass
    except ValueError:
        expected = "picamera2 cannot load with this numpy"
    with pytest.raises(SourceError, match=expected):
        Picamera2Source()


def test_a_file_with_sound_and_no_picture_says_so(tmp_path):
    """An audio-only .mp4 said 'tuple index out of range'."""
    import av

    path = tmp_path / "voice-memo.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(SourceError, match=r"voice-memo.mp4: it holds no pictures, only audio"):
        VideoFileSource(path)


def test_a_text_file_named_like_a_video_says_what_is_wrong_without_ffmpeg_errno(tmp_path):
    """It said "[Errno 1094995529] Invalid data found when processing input"."""
    path = tmp_path / "set.mp4"
    path.write_text("these are my notes, not a video\n" * 20)
    with pytest.raises(SourceError) as info:
        VideoFileSource(path)
    assert "set.mp4: it is not a video FFmpeg can read" in str(info.value)
    assert "Errno" not in str(info.value)


def test_a_video_cut_inside_its_header_says_damaged_or_cut_short(tmp_path):
    """Its first 1000 bytes gave FFmpeg's bare "End of file"."""
    import av

    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    moov = data.find(b"moov")
    assert moov > 0
    cut.write_bytes(data[: moov + 40])            # the file ends inside its header
    with pytest.raises(SourceError) as info:
        VideoFileSource(cut)
    assert "cut.mp4: " in str(info.value) and ("cut short" in str(info.value)) and "End of file" not in str(info.value)


def test_a_recording_with_nothing_in_it_says_so(tmp_path):
    """A recording stopped before its first frame: it said "no video stream (only no streams at all)"."""
    import av

    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()    # the header is written, no frame ever comes: FFmpeg finds no streams in it
    with pytest.raises(SourceError, match=r"empty.mp4: the file holds no pictures at all") as info:
        list(VideoFileSource(path))
    assert "no streams" not in str(info.value)


def test_a_raw_h264_stream_without_timestamps_plays_at_its_rate(tmp_path):
    """rpicam-vid writes raw H.264 by default: no container, no timestamps. Every frame came out at
    0 s and `station analyze` said "no reps found"."""
    import av

    path = tmp_path / "set.h264"
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    source = VideoFileSource(path)
    times = [t for t, _ in source]
    source.close()
    assert len(times) == 10 and times[0] == 0.0
    assert np.allclose(np.diff(times), 1.0 / source.nominal_fps) and 10 <= source.nominal_fps <= 60


def test_open_source_rejects_unknown_specs(tmp_path):
    with pytest.raises(SourceError, match="neither 'camera', 'synthetic' nor"):
        open_source(str(tmp_path / "missing.mp4"))
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    with pytest.raises(SourceError, match="unknown file type"):
        open_source(str(odd))
