DROP TABLE document_copies;
