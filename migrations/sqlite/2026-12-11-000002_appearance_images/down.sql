DROP TABLE appearance_images;
