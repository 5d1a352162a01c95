from .ctdet_decoder import CTDetDecoder, gather_at, local_peaks, topk_peaks

__all__ = ['CTDetDecoder', 'gather_at', 'local_peaks', 'topk_peaks']
