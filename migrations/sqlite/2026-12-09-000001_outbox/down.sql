DROP TABLE interchange_outbox;
