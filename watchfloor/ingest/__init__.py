"""Camera sources, camera workers, the segment recorder and the camera simulator."""
