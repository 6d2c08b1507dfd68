package storage

import "net/http"

// StoreChunk saves one part of a resumable upload.
func StoreChunk(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("upload_id")
	if id == "" {
		http.Error(w, "missing upload_id", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// Health answers the load balancer.
func Health(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}
